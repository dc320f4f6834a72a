"""One line per number a figure's verdict reports (Verdict.numbers), for people: what it
measures, in the figure's own terms. The figure pages and the report show them beside the
values. Keys are the numbers' own names; a figure's entry wins over the shared one (a name like
"final" means the final CSR in one figure and something else in another). Grouping keys (a
setting such as "randY", a noise level, a width) need no entry: they say where a number belongs.
"""

from __future__ import annotations

from typing import Any

SHARED: dict[str, str] = {
    "difference": "the difference the part reads (first setting in its text minus the second), "
    "mean over members or seeds; above 0 is the claimed direction",
    "seeds": "training seeds (initial weights and data order) compared seed by seed",
    "real_train_acc": "final training accuracy of the real-data net, mean over seeds (the "
    "regime: it learned its labels)",
    "members": "models trained together per run (K); P(correct) takes the values k/K",
    "members_to_decide": "members (or seeds) per setting that would decide this open "
    "comparison at the spread measured now (a power calculation: 80% power, 5% level; "
    "metrics.spread.members_needed)",
    "epochs": "epochs at which the curves were compared",
    "steps": "SGD steps at which both curves were measured",
    "sizes": "training-set sizes compared (examples)",
    "spearman": "rank correlation of noise level with the quantity (+1: rises with every step "
    "up in noise, -1: falls)",
    "standard_error": "standard error of the difference or slope a sub-verdict reads, from the "
    "spread across members or seeds",
    "slope": "least-squares slope of the final value on the noise level, over members",
    "se": "standard error of that slope",
    "train_acc": "training accuracy (against the possibly noisy labels) at the end, per noise "
    "level",
    "val_acc": "validation accuracy (clean data) at the end, per noise level",
    "csr": "critical sample ratio at the last measurement, per noise level",
}

BY_FIGURE: dict[str, dict[str, str]] = {
    "capacity": {
        "tolerance": "how close to its best validation accuracy a width must come to count as "
        "near-best: t x the standard error over members, per noise level",
        "final_train_acc_at_top_width": "training accuracy at the end of the widest net, per "
        "noise level (the regime: the widest net has fitted its noisy labels)",
        "near_best_width": "w*: the smallest width whose best validation accuracy is within the "
        "tolerance of the best width's, per noise level",
        "spearman_level_width": "rank correlation of noise level with w* (+1: every noisier "
        "setting needs more width)",
        "best_val_acc": "best validation accuracy (clean data) over widths and epochs, per noise "
        "level",
    },
    "convergence": {
        "log_ratio": "mean over size x member pairs of log(randY epochs to fit / real epochs to "
        "fit); above 0: randY is slower",
        "pairs": "size x member pairs compared",
        "lower_bound": "true when some run compared was censored (never fitted within its "
        "epochs), so its time is a lower bound",
        "real_growth": "the same ratio for real data",
        "log_difference": "log growth of the noisy setting minus real data's, mean over members; "
        "above 0: noisy time grows faster with size",
        "censored": "per setting and size: true when a member never reached 100% training "
        "accuracy within its epochs (its time to fit is then a lower bound)",
        "real_epochs": "epochs until every training example is fitted (train accuracy 1), per "
        "training-set size, real data",
        "randX_epochs": "epochs until train accuracy 1, per training-set size, random inputs",
        "randY_epochs": "epochs until train accuracy 1, per training-set size, random labels",
        "growth": "epochs to fit at the largest size over epochs at the smallest (how fast the "
        "time to memorize grows with the data)",
        "growth_is_lower_bound": "true when some run never fitted in its epochs, so the growth "
        "is at least the number shown",
    },
    "easiness": {
        "randX_distance_from_binomial": "|within-class dispersion of randX - 1|: how far random "
        "inputs are from the binomial reference (0 = every example equally easy); reported, "
        "not required by the claim",
        "mean_p": "mean P(correct) after the first epoch: the share of members that classify an "
        "example correctly, averaged over examples",
        "dispersion": "variance of P(correct) across examples over the binomial variance "
        "m(1-m)/K: 1 if every example were equally easy, above 1 when some examples are easier "
        "than others",
        "dispersion_within_class": "the same ratio within each class (pooled), so differences "
        "between classes do not count: above 1 = easy and hard examples inside a class",
        "always_right": "share of examples every member classifies correctly",
        "randY_minus_randX": "within-class dispersion of randY minus randX's (an observation: "
        "where randY falls)",
        "real_minus_randY": "within-class dispersion of real data minus randY's",
        "never_right": "share of examples no member classifies correctly",
    },
    "sensitivity": {
        "gap_per_seed": "per seed: Gini(real) - Gini(100% randX), averaged over the evaluation "
        "steps",
        "frac_steps_real_above": "share of evaluation steps at which real data's Gini (mean "
        "over seeds) is above random inputs'",
        "frac_real_above": "share of the SGD steps at which real data's Gini is above 100% "
        "random inputs' Gini",
        "final_real": "Gini of the per-example loss-sensitivity at the last step, real data "
        "(0 = every example matters equally, near 1 = a few dominate)",
        "final_randX": "the same Gini at the last step for 100% random inputs",
    },
    "class-sensitivity": {
        "log_ratio": "log of the diagonal / off-diagonal mean ratio of the class matrix, mean "
        "over seeds; above 0: the diagonal dominates",
        "diag_mean": "mean of the diagonal cells: how much a class's loss depends on inputs of "
        "its own class",
        "offdiag_mean": "mean of the off-diagonal cells: dependence on inputs of other classes",
        "diag_over_offdiag": "diagonal mean over off-diagonal mean (above 1: the diagonal "
        "dominates)",
        "offdiag_share": "off-diagonal cells' share of the matrix's total (higher = more shared "
        "between classes)",
    },
    "critical": {
        "frac_above_real": "share of the CSR measurements (after epoch 0) at which this noisy "
        "setting's critical sample ratio is above real data's",
        "final": "critical sample ratio at the last measurement: the share of probe points with "
        "an adversarial example within the radius",
        "rise": "last CSR minus first CSR after epoch 0",
        "initial": "critical sample ratio at epoch 0 (initialization: the untrained net)",
        "early_change": "CSR change over the first third of the measurements after epoch 0",
        "late_change": "CSR change over the last third of the measurements",
        "rise_epoch": "first measured epoch at which the setting's mean CSR covered 80% of its "
        "change from epoch 0 to the end (an observation: randX early, randY late)",
        "randY_minus_randX": "final CSR of randY minus randX's (the poster: randY rises 'to "
        "almost the same level')",
    },
    "noise-levels": {
        "drop": "validation accuracy at its peak minus at the last epoch (mean over members), "
        "per randY level",
        "noise": "epoch-to-epoch noise of that validation curve (std of its successive "
        "differences / sqrt 2)",
        "peaks_then_falls": "whether validation accuracy peaks after the first epoch and ends "
        "below its peak by more than twice that noise",
        "final_csr": "critical sample ratio at the end of training, per noise level",
        "final_val_acc": "validation accuracy (clean data) at the end of training, per noise level",
        "spearman_csr": "rank correlation of noise level with the final CSR (+1: CSR rises with "
        "noise)",
        "spearman_val": "rank correlation of noise level with the final validation accuracy "
        "(-1: accuracy falls with noise)",
        "levels_peak_then_fall": "noisy levels whose validation accuracy peaks and then falls "
        "(memorization setting in), of all noisy levels",
    },
    "regularization": {
        "randY_train_acc": "training accuracy on random labels without a regularizer (how much "
        "noise the net memorizes)",
        "real_best_val_acc": "best validation accuracy on real data without a regularizer",
        "val_noise": "epoch-to-epoch jitter of the validation curves (median over runs): the "
        "tolerance the validation comparisons use",
        "cap": "the memorization cap: halfway between the unregularized random-label training "
        "accuracy and chance",
        "val_at_cap": "per regularizer, the best real-data validation accuracy among strengths "
        "that keep random-label training accuracy at or below the cap (empty: none does)",
        "dropout_val_loss": "validation accuracy given up by the best capping dropout (or "
        "adversarial) setting, against no regularizer",
    },
    "sharpness": {
        "log_slope": "least-squares slope of log sharpness on the noise level, over members "
        "(above 0: sharpness rises with noise)",
        "sharpness": "largest eigenvalue of the loss Hessian at the end of training, per noise "
        "level (larger = a sharper minimum)",
        "spearman": "rank correlation of noise level with sharpness (+1: sharper with every step "
        "up in noise)",
    },
    "filters": {
        "structure_real": "mean spatial structure of the first-layer filters trained on real "
        "data (neighbouring weights alike: higher = smoother, more image-like)",
        "structure_randY": "the same for filters trained on random labels",
        "structure_init": "the same at initialisation (the baseline before training)",
        "difference": "structure_real minus structure_randY",
        "standard_error": "standard error of that difference (filters as samples)",
        "filters": "filters measured: real, random labels",
    },
}


def definition(fig: str, name: str) -> str:
    """What number `name` of figure `fig`'s verdict measures; "" when it is a grouping key
    or has no entry."""
    return BY_FIGURE.get(fig, {}).get(name) or SHARED.get(name, "")


def _value(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def rows(fig: str, numbers: dict[str, Any]) -> list[dict[str, str]]:
    """The verdict's numbers, however nested, as rows: number (the innermost key with a
    definition), for (the other keys: setting, noise level, width ...), value and definition.
    Works on any nesting, so numbers a figure adds later show too (without a definition until
    this module has one). The figure pages and the report show these rows."""
    out: list[dict[str, str]] = []

    def walk(path: tuple[str, ...], v: Any) -> None:
        if isinstance(v, dict) and v:
            for k, x in v.items():
                walk((*path, str(k)), x)
            return
        if not path:  # no numbers at all
            return
        named = [i for i, k in enumerate(path) if definition(fig, k)]
        words = [i for i, k in enumerate(path) if not _is_number(k)]  # not a level or width
        i = (named or words or [len(path) - 1])[-1]
        rest = path[:i] + path[i + 1 :]
        out.append({
            "number": path[i],
            "for": " · ".join(rest),
            "value": _value(v if not isinstance(v, dict) else None),
            "definition": definition(fig, path[i]),
        })  # fmt: skip

    walk((), numbers)
    return out


def verdict_rows(fig: str, verdict: dict[str, Any]) -> list[dict[str, str]]:
    """`rows` of a Verdict.to_dict(), its parts' and observations' numbers included: a part's
    name (an observation's as "observed: name") goes into the "for" column (e.g. "randY · 0.5")."""

    def merged(v: dict[str, Any]) -> dict[str, Any]:
        parts = {name: merged(p) for name, p in v.get("parts", {}).items()}
        obs = v.get("observations", {})
        seen = {f"observed: {n}": o.get("numbers", {}) for n, o in obs.items()}
        return {**v.get("numbers", {}), **{k: p for k, p in {**parts, **seen}.items() if p}}

    return rows(fig, merged(verdict))
