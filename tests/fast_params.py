"""Per-model settings that keep the generic sweep fast: tiny epochs; add a line for a model that needs more."""
import genad

DEFAULT = {"epochs": 2}
FAST_PARAMS: dict[str, dict] = {
    "anogan": {"search_steps": 5},
    "ensemble": {"members": ("ae?epochs=2", "dte?kind=nonparametric")},
}


def fast_params(name: str) -> dict:
    accepted = genad.get_info(name).parameters
    default = {key: value for key, value in DEFAULT.items() if key in accepted}
    return {**default, **FAST_PARAMS.get(name, {})}
