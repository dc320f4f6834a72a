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
  server) shows at once: results are cached by the configuration. The address bar holds the
  configuration, so you can share a link to a run; a link with a misspelt or invalid setting
  names it and stays as written. Its **Loss-sensitivity** tab shows (or runs, with one click) the
  Gini curve and the class heatmap for the dataset and noise in the form.
- **Paper experiments** (the menu in the top bar): one page per figure of the paper, each running
  its sweep and saying whether the paper's claim holds on the data at hand, with the numbers
  behind the verdict and what each of them measures.
- **Runs**: every stored run in a table; filter, compare curves of several runs, cancel or delete
  runs, and download records (CSV) or charts (PNG/SVG).
"""
)

st.subheader("How to read the charts")
st.markdown(
    """
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
