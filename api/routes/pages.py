"""The Plotly pages, their assets, plotly.js from the installed wheel, and the dbt lineage site."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.deps import ConfigDep

router = APIRouter(include_in_schema=False)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PAGES = {
    "/": "index.html",
    "/map": "map.html",
    "/heatmap": "heatmap.html",
    "/history": "history.html",
    "/compare": "compare.html",
}
NO_STORE = {"Cache-Control": "no-cache"}


def _page_route(path: str, file_name: str) -> None:
    def page(config: ConfigDep) -> FileResponse:
        return FileResponse(config.frontend_dir / file_name, media_type="text/html", headers=NO_STORE)

    page.__name__ = f"page_{file_name.removesuffix('.html')}"
    router.add_api_route(path, page, methods=["GET"], response_class=FileResponse)


for _path, _file in PAGES.items():
    _page_route(_path, _file)


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    # Served from the plotly wheel: the pages never reach a CDN. Version-pinned by uv.lock, so cacheable.
    return FileResponse(
        PLOTLY_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400", "X-Plotly-Version": plotly.__version__},
    )


@router.get("/lineage")
def lineage_redirect() -> RedirectResponse:
    return RedirectResponse("/lineage/", status_code=308)


@router.get("/lineage/", response_class=HTMLResponse)
def lineage(config: ConfigDep) -> Response:
    for candidate in config.lineage_pages:
        if candidate.is_file():
            return FileResponse(candidate, media_type="text/html", headers=NO_STORE)
    looked = "".join(f"<li><code>{path}</code></li>" for path in config.lineage_pages)
    return HTMLResponse(
        status_code=404,
        content=(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Lineage site not generated</title><link rel='icon' href='data:,'></head>"
            "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
            "<h1>The lineage site has not been generated yet</h1>"
            "<p>Run <code>liquidationheatmap build</code> and then <code>liquidationheatmap docs</code>; "
            "this page then shows dbt's lineage graph, every model's SQL, columns and tests.</p>"
            f"<p>Looked for:</p><ul>{looked}</ul><p><a href='/'>Back to the pages</a></p></body></html>"
        ),
    )
