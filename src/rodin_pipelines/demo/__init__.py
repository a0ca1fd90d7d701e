"""The demo page (``rodin-demo``): text, portrait, edit and random avatars in the browser.

Kedro-free like the rest of the library: ``rodin_pipelines.demo_cli`` opens the project through a
Kedro session and hands the page a :class:`~rodin_pipelines.demo.service.Project`. Generation is
:mod:`rodin_pipelines.generation.generator`, the code the ``generate`` stage's node runs.
"""
