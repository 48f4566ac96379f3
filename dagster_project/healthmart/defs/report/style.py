"""The health report's look shared by its charts and its page: colours and font."""

# The mart's colour names drawn in a palette that reads well on white.
CSS_COLOURS = {
    "green": "#2b9348",
    "yellow": "#e9b824",
    "orange": "#f3722c",
    "red": "#d62828",
    "grey": "#adb5bd",
}
DIMENSION_COLOURS = ("#4c6ef5", "#12b886", "#be4bdb", "#fab005", "#15aabf", "#868e96")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def css_colour(name: object) -> str:
    if not isinstance(name, str) or not name:
        return CSS_COLOURS["grey"]
    return CSS_COLOURS.get(name, name)
