"""Altair chart builders: tidy pandas DataFrames in, `alt.Chart` out. No Streamlit here, so the app
draws them and the reproduction report renders the same charts to SVG/PNG.

- style: the poster's colours, colour scales and chart sizes
- training: one run's curves over epochs (accuracy, critical sample ratio)
- compare: several runs on one metric (colour/facet by a setting, smoothing, log axes)
- examples: training examples and critical samples drawn as images (or line plots)
- per_example: easiness (P(correct) across members), data maps, forgetting events
- sensitivity: loss-sensitivity Gini over SGD steps and the per-class heatmap
- figures: the paper figures' charts, one module per figure; `figures.chart(name, df)`
- export: PNG/SVG bytes through vl-convert
- report: the reproduction report (claims table, verdicts, figures) as HTML or Markdown

Charts draw; they compute no science: the definitions (binomial references, the regularization
trade-off) come from memcore.metrics. Charts import memcore.metrics, memcore.records and
memcore.spec only.
"""
