"""Paper experiment page: noise-levels (see memcore.figures and app.figure_page)."""

from app import figure_page

figure_page.show("noise-levels")
