"""How the user interfaces name the core's options in its errors (vibes_core.errors): the
CLI by its flags, the dashboard by its fields and keys."""

# A flag whose name is not the option's.
FLAGS = {"as_of": "--as-of-version"}
# The dashboard's words: the options panel's fields, the keys that switch a model.
FIELDS = {
    "control": "Control",
    "prior": "Prior",
    "likelihood": "Likelihood",
    "split": "Intended split",
    "threshold": "Threshold",
    "hdi_prob": "HDI probability",
    "max_loss": "Largest expected loss",
    "rope": "Same within",
    "pooled": "the pooled model (p)",
    "by": "the breakdown (b)",
    "exact": "the exact posterior",
    "as_of": "the snapshot",
    # the plan's (vibes_tui.screens.plan)
    "mde": "MDE",
    "power": "Power",
    "baseline": "Baseline",
    "sd": "SD of a unit",
    "units_per_day": "Units a day",
}


def flag(option: str) -> str:
    """The CLI's flag of ``option``: --control, --as-of-version."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def field_name(option: str) -> str:
    """The dashboard's name of ``option``."""
    from vibes_core.errors import core_name

    return FIELDS.get(option) or core_name(option)
