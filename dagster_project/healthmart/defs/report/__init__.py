"""Report: the HTML health report of the serving file and the terminal summary."""
