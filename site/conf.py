"""Sphinx configuration of the course website, shared by both languages.

``tools/website.py build`` stages each language's pages (the committed notebooks, with each slider
cell's output replaced by its kernel-free slider) in ``build/site-src/<lang>`` and runs
``sphinx-build -c site`` on it, passing the language with ``-D language=en`` or ``zh_CN``.
Everything a page loads is served from the site itself: MathJax 3 comes from npm
(``site/package.json``), copied into each language's ``_static/mathjax``.
"""

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

# tools/website.py writes what it staged here: the language, its twin's folder, the page list.
STAGE = json.loads(Path(os.environ["WEBSITE_STAGE"]).read_text(encoding="utf-8"))
LANG = STAGE["lang"]  # "en" or "zh"

project_name = {"en": "Principles of diffusion models: the companion notebooks",
                "zh": "扩散模型原理：配套笔记本"}[LANG]
project = project_name
author = "the companion-notebooks authors"
copyright = "the companion-notebooks authors, MIT licence"
language = {"en": "en", "zh": "zh_CN"}[LANG]

extensions = ["myst_nb"]
templates_path = [str(HERE / "_templates")]
html_static_path = [str(HERE / "_static"), STAGE["mathjax_static"]]
html_extra_path = [STAGE["extra"]]  # the committed .ipynb files, for download
html_css_files = ["website.css"]
html_js_files = [("kernel_free_slider.js", {"defer": "defer"})]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
master_doc = "index"
html_title = project_name
html_theme = "sphinx_book_theme"
html_copy_source = False  # course-links.html offers the committed .ipynb instead
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": STAGE["repository_url"],
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "article_header_end": ["course-links.html", "article-header-buttons.html"],
    "navigation_with_keys": False,
}
html_context = {"course": STAGE, "default_mode": "light"}

# Notebooks are shown with their committed outputs, never executed here.
nb_execution_mode = "off"
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# MathJax 3 from the site itself, not the CDN Sphinx would use.
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {
    "tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
            "processEscapes": True},
    "options": {"ignoreHtmlClass": "tex2jax_ignore|mathjax_ignore",
                "processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

if LANG == "zh":
    # Sphinx 9 searches Chinese with the English stemmer (english-stemmer.js) but names it after the
    # language ("window.Stemmer = ChineseStemmer"), which does not exist: every zh page would raise
    # a ReferenceError. Naming the language "English" for that one line keeps jieba's word split.
    from sphinx.search import zh as _zh

    if getattr(_zh.SearchChinese, "js_stemmer_rawcode", None) == "english-stemmer.js":
        _zh.SearchChinese.language_name = "English"
