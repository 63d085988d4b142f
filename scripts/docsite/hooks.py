"""MkDocs hooks (mkdocs.yml `hooks:`): the pages made from the code, put in at build time.

docs/configuration.md holds `<!-- generated: settings -->` and
`<!-- generated: device settings -->` where the settings tables go, made from
server/config.py and device/config.py; docs/rest.md holds `<!-- generated: rest -->` where the REST
reference goes, rendered from the app's own /api/openapi.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # mkdocs loads this file by path, not as part of the package
    sys.path.insert(0, str(ROOT))

from scripts.docsite import config_page, rest_page  # noqa: E402


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs' types)
    if config_page.MARKER in markdown:
        markdown = markdown.replace(config_page.MARKER, config_page.render())
    if config_page.DEVICE_MARKER in markdown:
        markdown = markdown.replace(config_page.DEVICE_MARKER, config_page.render_device())
    if rest_page.MARKER in markdown:
        markdown = markdown.replace(
            rest_page.MARKER, rest_page.render(rest_page.openapi_document())
        )
    return markdown
