"""The web UI's files: the page, every module it preloads, the npm packages under /vendor/, and the
gateway image that must carry those packages (``npm ci`` in ``ui/``) where the gateway serves them from."""

from __future__ import annotations

import re
from pathlib import Path

from experiments_platform.web.gateway import ui_assets
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "services" / "api_gateway" / "Dockerfile"


def test_the_page_and_every_module_it_preloads_are_served(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
    html = page.get_data(as_text=True)
    modules = re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)
    assert "/ui/js/app.js" in modules and "/ui/js/pages/dashboard.js" in modules
    for href in [*modules, *re.findall(r'<script type="module" src="([^"]+)">', html)]:
        response = client.get(href)
        assert response.status_code == 200, f"index.html preloads {href}, which answers {response.status_code}"
        assert response.mimetype == "text/javascript", f"{href} is served as {response.mimetype}"


def test_vendor_serves_the_import_map_packages_only(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    imports = re.findall(r'"(/vendor/[^"]+)"', html)
    assert imports, "the import map names no /vendor/ module"
    assert ui_assets.vendor_dir(ROOT / "ui").is_dir(), "ui/node_modules is missing: run `npm ci` in ui/"
    for href in imports:
        assert client.get(href).status_code == 200, f"{href} of the import map is not served"
    assert client.get("/vendor/left-pad/index.js").status_code == 404
    assert client.get("/vendor/chart.js/../.package-lock.json").status_code == 404
    assert client.get("/vendor/chart.js/%2e%2e/.package-lock.json").status_code == 404


def test_the_gateway_image_installs_the_ui_packages_where_the_gateway_serves_them() -> None:
    text = DOCKERFILE.read_text()
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    text = re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), text)  # the deployed bases
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    ui_stage = next(s for s in stages if re.search(r"^RUN npm ci\b", s, re.M))
    assert re.match(r"node:\d+\.\d+\.\d+-\S+ AS (\w+)", ui_stage), "the npm stage uses a pinned node image"
    name = re.match(r"node:\S+ AS (\w+)", ui_stage).group(1)  # type: ignore[union-attr]
    assert "COPY ui/package.json ui/package-lock.json ./" in ui_stage, "npm ci installs from the committed lockfile"
    workdir = re.findall(r"^WORKDIR (\S+)", ui_stage, re.M)[-1]
    final = stages[-1]
    copied = re.search(rf"^COPY --from={name} {re.escape(workdir)}/node_modules (\S+)$", final, re.M)
    assert copied, f"the final stage does not copy {workdir}/node_modules from the {name} stage"
    final_root = Path(re.findall(r"^WORKDIR (\S+)", final.split(copied.group(0))[0], re.M)[-1])
    ui_setting = re.search(r"^\s*PLATFORM_UI_DIR=(\S+)", final, re.M)
    assert ui_setting, "the final stage does not set PLATFORM_UI_DIR, the folder the gateway serves the UI from"
    ui_dir = Path(ui_setting.group(1))
    assert final_root / copied.group(1) == ui_assets.vendor_dir(ui_dir), (
        f"the image puts the UI packages in {final_root / copied.group(1)}; the gateway reads "
        f"{ui_assets.vendor_dir(ui_dir)}")
    for entry in ui_assets.UI_FILES:
        copy = re.search(rf"^COPY ui/{re.escape(entry)} (\S+)$", final, re.M)
        assert copy, f"the image lacks ui/{entry}"
        assert final_root / copy.group(1) == ui_dir / entry, f"ui/{entry} lands in {final_root / copy.group(1)}"


def test_only_the_ui_files_of_the_ui_folder_are_served(client: FlaskClient) -> None:
    assert client.get("/ui/css/app.css").status_code == 200
    for path in ("/ui/package.json", "/ui/package-lock.json", "/ui/node_modules/chart.js/package.json",
                 "/ui/js/../package.json", "/ui/%2e%2e/package.json"):
        assert client.get(path).status_code == 404, f"{path} is not part of the UI and must not be served"


def test_the_api_documentation_page_and_its_swagger_ui_are_served(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/(?:vendor|ui)/[^"]+)"', html)
    assert "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in assets and "/ui/js/api_docs.js" in assets
    for href in assets:
        assert client.get(href).status_code == 200, f"the API docs page loads {href}, which is not served"
    assert not re.search(r'(?:href|src)="(?:https?:)?//', html), "the docs page loads nothing from a CDN"


def test_the_api_root_answers_with_links_not_a_bare_404(client: FlaskClient) -> None:
    response = client.get("/api")
    assert response.status_code == 200 and response.mimetype == "application/json"
    links = response.json["links"]
    for name, path in (("ui", "/"), ("docs", "/api/docs"), ("openapi", "/api/openapi.json")):
        assert links[name].endswith(path), f"/api's {name} link is {links[name]}"
        assert client.get(links[name]).status_code == 200, f"/api links {name} to {links[name]}, which fails"
