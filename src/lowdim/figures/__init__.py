"""The figures of each study, one module per study (:mod:`lowdim.experiments` runs the study and
calls its figures module). Every function takes the study's results and settings and returns a
Matplotlib figure drawn in the shared style of :mod:`lowdim.plotting`; saving (PNG and SVG,
atomically) is the harness's job (:meth:`lowdim.experiments.harness.Session.figure`).

Importing a module here imports Matplotlib (its start-up cost): the studies import their figures
module only when they draw.
"""
