"""About: what the explorer is, the paper behind it, and how to read its pages."""

import streamlit as st

st.title("About the memorization explorer")

st.markdown(
    """
This dashboard reproduces and lets you explore **"A Closer Look at Memorization in Deep
Networks"** (Arpit, Jastrzębski, Ballas, Krueger, Bengio, Kanwal, Maharaj, Fischer, Courville,
Bengio; ICML 2017) and its workshop poster *"Deep Nets Don't Learn via Memorization"*.

**The idea.** Memorization is defined operationally as behaviour on *noise*. Train the same
network on real data and on data whose inputs (**randX**: Gaussian noise) or labels (**randY**:
random labels) were replaced, and compare *how* it learns. The paper's findings: networks learn
simple patterns first and memorize noise later; real examples differ widely in how easy they are;
noise needs more capacity and more time; regularizers such as dropout can hold back memorization
without hurting generalization.

**Colours.** As on the poster: **real data / clean examples in blue**, **randX in green**,
**randY in red**. Noisy training examples take the colour of their noise kind. Validation
accuracy (always on clean data) is a dashed dark-grey line.
"""
)

st.subheader("How to use it")
st.markdown(
    """
- **Explore**: pick a preset or set dataset, noise, model, regularizer and training options in
  the sidebar and press **Run**. Training runs in background worker processes; the charts update
  about once a second while it runs. A configuration that was run before (by you or anyone on this
  server) shows at once: results are cached by the configuration. The sidebar estimates the
  run's time as a range calibrated on the runs measured on this machine. The address bar holds
  the configuration, so you can share a link to a run; a link with a misspelt or invalid setting
  names it and stays as written, and a partial link fills the rest with the form's defaults. Its
  **Loss-sensitivity** tab runs (with one click) and draws real data and the form's noise side by
  side: the Gini curves together, a class heatmap each.
- **Runs**: every stored run in a table, your own runs first, then each figure's sweep; filter by
  status, dataset, noise, figure or tag. Name, tag and annotate a run. Compare runs on one
  metric (over epochs, SGD steps or wall time; smoothing, log axes, colour and panels by any
  setting); the address bar holds the comparison, so a link shares it. Download the records
  with each run's configuration (CSV) or the chart (PNG/SVG); cancel or delete runs.
- **Examples**: a training run's easiest, hardest and most-forgotten tracked examples drawn as
  pictures (or line plots for MNIST-1D), and the critical samples LASS found beside their
  adversarial points. `?run=` takes any unique start of a run key (the 12 characters the app and
  the CLI print); only runs that tracked examples are listed.
- **About**: this page.
- **Paper figures** (the menu in the top bar): one page per figure of the paper, each running
  its sweep and saying whether the paper's claim holds on the data at hand: "not run" before
  its sweep, "running" while it runs (the figure draws the runs' records as they arrive), then
  the verdict as a table of the claim's parts (✓ holds, ✗ does not hold, ? inconclusive), with
  the numbers behind it and what each of them measures.
- **Reproduction report** (in the same menu): every claim's state on the stored runs, a button
  that queues every sweep, and the report as a standalone HTML or Markdown file.
"""
)

st.subheader("How to read the charts")
st.markdown(
    """
- **Every line chart**: drag to pan, scroll to zoom, double-click to reset; click a legend entry
  to show that series alone (shift-click adds more), click elsewhere to show all again.
- **Accuracy**: training accuracy on clean examples (blue) and on noisy examples (green/red),
  measured against the labels the network was trained on, and validation accuracy (dashed).
  Lines are the mean over the trained members (models with different seeds); the shaded band
  spans their minimum to maximum. Clean accuracy rising long before noisy accuracy is "patterns
  first, then memorization".
- **Critical sample ratio (CSR)**: the fraction of probe points that have an adversarial example
  within a small L-inf radius (found by the LASS search). A higher CSR means a more complex,
  more finely carved decision surface; the paper finds it higher for noise.
- **Easiness**: for each tracked training example, the fraction of members that classify it
  correctly after one epoch (with K members it takes the values k/K; each bar sits on one).
  Real data spreads out (some examples always right, some never);
  randX follows the dashed binomial reference, which is what independent coin flips would give.
- **Loss-sensitivity** (sensitivity task): how much each training input influences the loss,
  through the unrolled SGD steps. Its Gini coefficient (0 = all examples matter equally) is
  higher for real data; the class-by-class heatmap (log colours: yellow = larger, dark purple =
  smaller) shows how much inputs of class j move the loss of class i.
- **Data map and forgetting**: per example, the mean confidence in its training label over
  epochs against its variability (Swayamdipta et al. 2020); and how often an example went from
  correct to wrong (forgetting events, Toneva et al. 2019). Noisy examples sit low and forget
  more.
"""
)

st.subheader("Links")
st.markdown(
    """
- Paper: [arXiv:1706.05394](https://arxiv.org/abs/1706.05394) (ICML 2017)
- Zhang et al. 2017, [Understanding deep learning requires rethinking generalization](https://arxiv.org/abs/1611.03530)
- Toneva et al. 2019, [An empirical study of example forgetting](https://arxiv.org/abs/1812.05159)
- Swayamdipta et al. 2020, [Dataset cartography](https://arxiv.org/abs/2009.10795)
- Offline datasets: scikit-learn's [digits](https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html)
  and [MNIST-1D](https://github.com/greydanus/mnist1d)
"""
)
st.caption(
    "Everything runs locally: `streamlit run app/main.py` serves this app, and "
    "`python -m memcore worker` processes train in the background (the app starts them)."
)
