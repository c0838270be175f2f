"""The API's error answers: every one is JSON `{"detail": "<what was wrong and what to do>"}`."""

from __future__ import annotations

import duckdb
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

BUILD_HINT = "run `liquidationheatmap build` (or `liquidationheatmap demo`)"


class ErrorMessage(BaseModel):
    detail: str


class NotFound(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=404, detail=detail)


class DataNotBuilt(HTTPException):
    """503: the warehouse, or the mart a route reads, does not exist yet."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=503, detail=detail, headers={"Retry-After": "30"})


def invalid_parameter(location: str, name: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own validation-error shape, for checks that span several parameters."""
    return RequestValidationError([{"loc": (location, name), "msg": message, "type": "value_error"}])


# Declared on every data route, so the OpenAPI schema lists the error answers it can give.
DATA_ERRORS: dict[int | str, dict] = {
    404: {"model": ErrorMessage, "description": "Unknown symbol, or nothing for these parameters"},
    503: {"model": ErrorMessage, "description": f"The warehouse or this mart is not built yet: {BUILD_HINT}"},
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(duckdb.Error)
    def warehouse_error(_: Request, error: duckdb.Error) -> JSONResponse:
        # A warehouse built by another version of the dbt project lacks a column or table this
        # route reads: that is a data problem the user fixes by rebuilding, not a server fault.
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return JSONResponse(
            status_code=503,
            content={
                "detail": f"the warehouse does not hold what this route reads ({first_line}); {BUILD_HINT}"
            },
            headers={"Retry-After": "30"},
        )
