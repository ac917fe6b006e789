"""vibes_core: experiments on a DuckLake lakehouse, with no user interface.

The public API (see ``vibes_core.api``)::

    import vibes_core as vc
    vc.create(name, type_name, frame); vc.upload(name, frame); vc.experiments()
    vc.events(name)        # an Ibis table
    vc.fit(name)           # the summarized posterior; exact=True for the closed form
    vc.fit(name, model=vc.Pooled())   # or vc.Segmented("segment"); vc.Independent() by default
    vc.upload_table("orders", frame); vc.create_metric("purchased", "orders", "proportion")
    vc.set_metrics("shop", goal="purchased", guardrails={"errors": 0.05}); vc.fit("shop")
    vc.learn_prior("ab-test"); vc.fit(name, prior="learned")  # effects as past ones were

Nothing heavy is imported here: the API's names load ``vibes_core.api`` when first used.
"""

from vibes_core.errors import VibesError

API = ("open_lake", "experiments", "events", "create", "upload", "fit")
API += ("upload_table", "table_list", "delete_table", "create_metric", "metric_list", "set_metrics")
API += ("learn_prior", "learned_priors")
MODELS = ("Independent", "Pooled", "Segmented")
__all__ = ["VibesError", *API, *MODELS]


def __getattr__(name: str):
    if name in API:
        from vibes_core import api

        return getattr(api, name)
    if name in MODELS:
        from vibes_core import models

        return getattr(models, name)
    raise AttributeError(f"module 'vibes_core' has no attribute {name!r}")
