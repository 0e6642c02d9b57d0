"""The PDF page draws each chart's SVG as an image: same drawing, same text alternative, its XML attribute names intact."""

from __future__ import annotations

import base64
import re

from rare_earth_lib.build import render

SVG = (
    '<svg class="marks" height="20" preserveaspectratio="xMinYMin meet" viewbox="0 0 40 20" width="40" '
    'xmlns="http://www.w3.org/2000/svg"><title>Figure 1: "Share" &amp; more. 2 values.</title><desc>2 values.</desc>'
    '<rect width="10" height="10"></rect></svg>'
)


def test_each_chart_svg_becomes_an_image_with_its_title_as_alt():
    page = f'<div class="chart" role="img"><div id="fig-1">{SVG}</div></div><p>after</p>'
    printed = render.charts_as_images(page)
    img = re.search(r'<img alt="([^"]*)" width="40" height="20" src="data:image/svg\+xml;base64,([^"]+)">', printed)
    assert img, printed
    assert img[1] == "Figure 1: &quot;Share&quot; &amp; more. 2 values."
    svg = base64.b64decode(img[2]).decode()
    assert 'viewBox="0 0 40 20"' in svg and 'preserveAspectRatio="xMinYMin meet"' in svg
    assert printed.endswith("</div></div><p>after</p>") and "<svg" not in printed


def test_an_svg_without_a_title_stays_inline():
    page = '<svg width="4" height="2" xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"></rect></svg>'
    assert render.charts_as_images(page) == page
