"""Paper experiment page: easiness (see memcore.experiments and app.figure_page)."""

from app import figure_page

figure_page.show("easiness")
