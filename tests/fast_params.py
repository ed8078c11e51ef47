"""Per-model settings that keep the generic sweep fast: tiny epochs; add a line for a model that needs more."""
DEFAULT = {"epochs": 2}
FAST_PARAMS: dict[str, dict] = {
    "anogan": {"search_steps": 5},
}


def fast_params(name: str) -> dict:
    return {**DEFAULT, **FAST_PARAMS.get(name, {})}
