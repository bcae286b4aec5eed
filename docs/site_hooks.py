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
REFERENCE_ENTRY = "API reference"
LINK = re.compile(r"(?<!!)\]\(([^)\s#]+)(#[^)\s]*)?\)")


def reference_page(module: str) -> str:
    """The Markdown of one reference page: the module rendered by mkdocstrings."""
    return f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n"


def on_config(config: Any) -> Any:
    """Replace the nav's "API reference" entry by one page per API module."""
    pages = [{"Overview": "reference/index.md"}]
    pages += [{module: f"reference/{module}.md"} for module in public_modules()]
    for i, entry in enumerate(config["nav"] or []):
        if isinstance(entry, dict) and REFERENCE_ENTRY in entry:
            config["nav"][i] = {REFERENCE_ENTRY: pages}
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the project pages and the reference pages."""
    for source, page in PROJECT_PAGES.items():
        text = (ROOT / source).read_text()
        if source == "LICENSE":
            text = f"# License\n\n```text\n{text}```\n"
        files.append(File.generated(config, page, content=text))
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
    return files


def _summary(module: str) -> str:
    import importlib

    doc = (importlib.import_module(module).__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Rewrite links written for the repository to the pages they mean on the site."""
    site_of = dict(PROJECT_PAGES)
    uri = page.file.src_uri
    # a project file's links are relative to the repository root, a docs page's to docs/
    in_root = uri in site_of.values()
    repo_dir = "" if in_root else posixpath.join("docs", posixpath.dirname(uri))

    def replace(match: re.Match[str]) -> str:
        target, anchor = match.group(1), match.group(2) or ""
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        repo_path = posixpath.normpath(posixpath.join(repo_dir, target))
        if repo_path in site_of:
            site = site_of[repo_path]
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
