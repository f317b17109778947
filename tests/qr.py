"""Decode a QR code the way a phone would: render it in a real browser, read it with zxing-cpp."""
from __future__ import annotations

import io

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def decode_png(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


def decode_svg(svg: str) -> list[str]:
    """Render the SVG document in Chromium (no segno involved) and decode the screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 600, "height": 600})
            page.set_content(f"<html><body style='margin:20px;background:#fff'>{svg}</body></html>")
            png = page.locator("svg").screenshot()
        finally:
            browser.close()
    return decode_png(png)
