"""mkdocs hooks for the tconv site (mkdocs.yml ``hooks:``).

- The project files (README, CHANGELOG, CONTRIBUTING, LICENSE) become pages, so the site and
  the repository show the same text, written once.
- One API reference page per module of :data:`docstring_check.API_MODULES` (plus the
  optional ones once they exist), rendered by mkdocstrings; the nav's "API reference" entry
  lists them.
- Links written for the repository (``docs/padding.md`` from the README, ``../README.md`` from
  a docs page) are rewritten to the pages they mean on the site.
- Each docstring problem of :func:`docstring_check.problems` is logged as a warning, so
  ``mkdocs build --strict`` fails on a public name without a complete docstring.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pathlib
import posixpath
import re
import sys
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from docstring_check import problems, public_modules

log = logging.getLogger("mkdocs.plugins.tconv")

ROOT = pathlib.Path(__file__).resolve().parents[1]
# repository file -> page on the site
PROJECT_PAGES = {
    "README.md": "overview.md",
    "CHANGELOG.md": "changelog.md",
    "CONTRIBUTING.md": "contributing.md",
    "LICENSE": "license.md",
}
# repository file -> file copied as it is (linked, not a page)
PROJECT_FILES = {"CITATION.cff": "CITATION.cff"}
REFERENCE_ENTRY = "API reference"
GUIDE_ENTRY = "Guide"
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)\s#]+)(#[^)\s]*)?\)")


def reference_page(module: str) -> str:
    """The Markdown of one reference page: the module rendered by mkdocstrings."""
    return f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n"


def _nav_files(nav: Any) -> set[str]:
    """Every page file a nav (nested lists and dicts) names."""
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, dict):
        return set().union(*(_nav_files(v) for v in nav.values()))
    if isinstance(nav, list):
        return set().union(*(_nav_files(v) for v in nav)) if nav else set()
    return set()


def _title(path: pathlib.Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def _figures() -> list[pathlib.Path]:
    return sorted((DOCS / "figures").glob("*.png"))


def _has_explainer() -> bool:
    return importlib.util.find_spec("tconv.viz") is not None and (
        importlib.util.find_spec("tconv.viz.page") is not None
    )


def on_config(config: Any) -> Any:
    """Complete the nav: one page per API module under "API reference", the figure gallery
    when docs/figures/ has figures, and any docs page the nav does not name yet (under
    "Guide", titled by its first heading), so that a new page never goes missing."""
    pages = [{"Overview": "reference/index.md"}]
    pages += [{module: f"reference/{module}.md"} for module in public_modules()]
    nav = config["nav"] or []
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and REFERENCE_ENTRY in entry:
            nav[i] = {REFERENCE_ENTRY: pages}
    named = _nav_files(nav)
    extra: list[Any] = [
        {_title(path): path.name} for path in sorted(DOCS.glob("*.md")) if path.name not in named
    ]
    if (_figures() or _has_explainer()) and "gallery.md" not in named:
        extra.append({"Figure gallery": "gallery.md"})
    for entry in nav:
        if isinstance(entry, dict) and GUIDE_ENTRY in entry:
            entry[GUIDE_ENTRY] = list(entry[GUIDE_ENTRY]) + extra
            break
    else:
        nav += extra
    return config


def gallery_page() -> str:
    """The figure gallery: every figure of docs/figures/ and the interactive explainer."""
    lines = [
        "# Figure gallery",
        "",
        "Every figure here is drawn by `tconv.viz` from numbers tconv computed, and regenerated",
        "by `docs/generate.py` (which also checks the numbers each figure drew). Draw your own",
        "with `tconv explain --out DIR`.",
        "",
    ]
    if _has_explainer():
        lines += [
            "The [interactive explainer](explainer.html) (`tconv explain --html page.html`)",
            "draws the three views of any 1-D or 2-D setting in the browser.",
            "",
        ]
    for png in _figures():
        lines += [f"## {png.stem}", "", f"![{png.stem}](figures/{png.name})", ""]
    return "\n".join(lines)


def on_files(files: Files, config: Any) -> Files:
    """Add the project pages and the reference pages."""
    for source, page in PROJECT_PAGES.items():
        text = (ROOT / source).read_text()
        if source == "LICENSE":
            text = f"# License\n\n```text\n{text}```\n"
        files.append(File.generated(config, page, content=text))
    for source, copy in PROJECT_FILES.items():
        files.append(File.generated(config, copy, content=(ROOT / source).read_text()))
    modules = public_modules()
    index = [
        "# API reference",
        "",
        "Generated from the docstrings of the public names (each module's `__all__`).",
        "`import tconv` gives the names of the first page; the others are imported as modules",
        "(`from tconv.interop import onnx`).",
        "",
        "| module | summary |",
        "| --- | --- |",
    ]
    for module in modules:
        summary = _summary(module)
        index.append(f"| [`{module}`]({module}.md) | {summary} |")
        files.append(
            File.generated(config, f"reference/{module}.md", content=reference_page(module))
        )
    files.append(File.generated(config, "reference/index.md", content="\n".join(index) + "\n"))
    if _figures() or _has_explainer():
        files.append(File.generated(config, "gallery.md", content=gallery_page()))
    if _has_explainer():
        from tconv.viz.page import page_html

        files.append(File.generated(config, "explainer.html", content=page_html()))
    return files


def _summary(module: str) -> str:
    doc = (importlib.import_module(module).__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Rewrite links and images written for the repository to what they mean on the site."""
    site_of = {**PROJECT_PAGES, **PROJECT_FILES}
    uri = page.file.src_uri
    # a project file's links are relative to the repository root, a docs page's to docs/
    in_root = uri in PROJECT_PAGES.values()
    repo_dir = "" if in_root else posixpath.join("docs", posixpath.dirname(uri))

    def replace(match: re.Match[str]) -> str:
        target, anchor = match.group(1), match.group(2) or ""
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        repo_path = posixpath.normpath(posixpath.join(repo_dir, target))
        if repo_path in site_of:
            site = site_of[repo_path]
        elif repo_path == "docs/figures":  # the folder of figures: the gallery shows them
            site = "gallery.md"
        elif repo_path.startswith("docs/"):
            site = repo_path.removeprefix("docs/")
        else:
            return match.group(0)  # left as written: strict validation reports it
        relative = posixpath.relpath(site, posixpath.dirname(uri) or ".")
        return f"]({relative}{anchor})"

    return LINK.sub(replace, markdown)


def on_pre_build(config: Any) -> None:
    """Warn (so --strict fails) for each public name without a complete docstring."""
    for problem in problems():
        log.warning("docstring: %s", problem)
