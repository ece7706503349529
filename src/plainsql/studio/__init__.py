"""plainsql studio: browse the data, the named queries and the migrations in a browser.

``plainsql studio`` serves :func:`plainsql.studio.app.create_app` with uvicorn on 127.0.0.1
(the ``studio`` extra brings Starlette, Jinja2 and uvicorn). Nothing here is imported by
plainsql's other modules: the CLI imports it when the command runs. docs/studio.md tells
what each page shows and how the studio keeps the database and its secrets safe.
"""
