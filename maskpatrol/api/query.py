"""A route's query string as one value per known parameter, or a 422 naming the problem.

Unknown parameters are refused rather than ignored: a misspelt ``treshold=0.1`` that
silently fell back to the default would hide unmasked faces from its caller.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams

from .errors import ApiError


def single_values(query: QueryParams, allowed: tuple[str, ...]) -> dict[str, str]:
    """Each given parameter's one value; 422 for a parameter not in ``allowed`` or given twice."""
    unknown = sorted(set(query.keys()) - set(allowed))
    if unknown:
        raise ApiError(422, f"Unknown query parameter {', '.join(unknown)}; this route takes: "
                            f"{', '.join(allowed)}.")
    values = {}
    for key in query.keys():
        given = query.getlist(key)
        if len(given) > 1:
            raise ApiError(422, f"Query parameter {key} is given {len(given)} times; give it once.")
        values[key] = given[0]
    return values
