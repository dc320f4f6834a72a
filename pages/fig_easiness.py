"""Paper experiment page: easiness (see memcore.figures and app.figure_page)."""

from app import figure_page

figure_page.show("easiness")
