"""Paper experiment page: sensitivity (see memcore.figures and app.figure_page)."""

from app import figure_page

figure_page.show("sensitivity")
