"""Show a matplotlib figure with alt text and a caption, so it is readable without sight."""

from __future__ import annotations

import base64
import html
import io
from typing import Any


def figure_html(figure: Any, alt: str, caption: str) -> str:
    """The figure as an HTML <figure> with a PNG, its alt text and a visible caption."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def show_figure(figure: Any, alt: str, caption: str) -> None:
    """Display the figure in the notebook with alt text, then close it."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    display(HTML(figure_html(figure, alt, caption)))
    plt.close(figure)
