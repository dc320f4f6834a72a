"""Paper experiment page: sensitivity (see memcore.experiments and app.figure_page)."""

from app import figure_page

figure_page.show("sensitivity")
