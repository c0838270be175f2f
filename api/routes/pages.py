"""The Plotly pages, their assets, plotly.js from the installed wheel, and the dbt lineage site."""

from __future__ import annotations

from pathlib import Path
from string import Template

import plotly
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.deps import ConfigDep

router = APIRouter(include_in_schema=False)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# path -> (the page's own file in frontend/, from <main> to </html>; its title)
PAGES = {
    "/": ("index.html", "Pages"),
    "/map": ("map.html", "Liquidation map"),
    "/heatmap": ("heatmap.html", "Liquidation heatmap"),
    "/history": ("history.html", "Historical liquidations"),
    "/compare": ("compare.html", "Model comparison"),
}
# The seed's page URLs (its README and bookmarks) -> today's pages; the coinglass page was the
# heatmap with every control (symbol, model, timeframe, side), which /heatmap now is.
LEGACY_PAGES = {
    "/heatmap.html": "/heatmap",
    "/coinglass_heatmap.html": "/heatmap",
    "/liquidation_map.html": "/map",
    "/historical_liquidations.html": "/history",
}
# The head and the navigation every page shares ($title, $page), written once.
PAGE_TOP = "_top.html"
NO_STORE = {"Cache-Control": "no-cache"}


def render_page(frontend_dir: Path, file_name: str, title: str) -> str:
    """A whole page: the shared top, with the page's title and nav mark, then the page's own part."""
    top = Template((frontend_dir / PAGE_TOP).read_text(encoding="utf-8"))
    page = file_name.removesuffix(".html")
    return top.substitute(title=title, page=page) + (frontend_dir / file_name).read_text(encoding="utf-8")


def _page_route(path: str, file_name: str, title: str) -> None:
    def page(config: ConfigDep) -> HTMLResponse:
        return HTMLResponse(render_page(config.frontend_dir, file_name, title), headers=NO_STORE)

    page.__name__ = f"page_{file_name.removesuffix('.html')}"
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


for _path, (_file, _title) in PAGES.items():
    _page_route(_path, _file, _title)


def _legacy_route(path: str, target: str) -> None:
    def legacy_page(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse(target + (f"?{query}" if query else ""), status_code=308)

    legacy_page.__name__ = f"legacy_{path.strip('/').removesuffix('.html')}"
    router.add_api_route(path, legacy_page, methods=["GET"])


for _path, _target in LEGACY_PAGES.items():
    _legacy_route(_path, _target)


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
