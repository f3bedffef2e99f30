"""The officials' dashboard: server-rendered pages (Jinja2, Plotly) over the same services
as the API, in Chinese by default with an English switch, working with no internet."""
