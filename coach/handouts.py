"""A lesson's handout as a PDF (fpdf2): its key points and its do-it-yourself guide, to keep or to
show a doctor. Plain text in the PDF's core font, so characters it cannot show are replaced."""

from __future__ import annotations

from collections.abc import Sequence

# The core fonts cover Latin-1: the few typographic characters lessons use are written plainly,
# and anything else (emoji) is left out.
PLAIN = str.maketrans({"•": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "→": "->"})


def printable(text: str) -> str:
    return text.translate(PLAIN).encode("latin-1", "ignore").decode("latin-1").strip()


def handout_pdf(title: str, sections: Sequence[tuple[str, str]], footer: str) -> bytes:
    """A one- or two-page PDF: the title, then each section's heading and text."""
    # Imported here: fpdf2 brings fontTools, Pillow and numpy, a quarter second of every start-up,
    # for a handout that most processes never make.
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_title(printable(title))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.multi_cell(0, 9, printable(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for heading, text in sections:
        pdf.ln(4)
        pdf.set_font("Helvetica", style="B", size=13)
        pdf.multi_cell(0, 7, printable(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=11)
        for paragraph in printable(text).split("\n"):
            pdf.multi_cell(0, 6, " ".join(paragraph.split()) or " ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.set_font("Helvetica", style="I", size=9)
    pdf.multi_cell(0, 5, printable(footer), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
