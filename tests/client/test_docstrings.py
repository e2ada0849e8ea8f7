from functionary.client.docstrings import parse_docstring


def test_google_style():
    doc = """Book a flight.

    Picks the cheapest fare.

    Args:
        origin (str): Airport code
            to leave from.
        dest: Airport code to fly to.
        *extras: ignored.

    Returns:
        The booking id.
    """
    summary, params = parse_docstring(doc)
    assert summary == "Book a flight.\n\nPicks the cheapest fare."
    assert params == {"origin": "Airport code to leave from.", "dest": "Airport code to fly to.",
                      "extras": "ignored."}


def test_numpy_style():
    doc = """Convert a temperature.

    Parameters
    ----------
    value : float
        The temperature
        to convert.
    low, high : int
        Bounds.

    Returns
    -------
    float
        The converted value.
    """
    summary, params = parse_docstring(doc)
    assert summary == "Convert a temperature."
    assert params == {"value": "The temperature to convert.", "low": "Bounds.", "high": "Bounds."}


def test_rest_style():
    doc = """Send an email.

    :param to: The recipient
        address.
    :param str subject: The subject line.
    :returns: nothing
    :raises ValueError: when the address is bad
    """
    summary, params = parse_docstring(doc)
    assert summary == "Send an email."
    assert params == {"to": "The recipient address.", "subject": "The subject line."}


def test_plain_and_empty():
    assert parse_docstring(None) == ("", {})
    assert parse_docstring("   ") == ("", {})
    assert parse_docstring("Just a line.\n  wrapped here.") == ("Just a line. wrapped here.", {})
    # "Note: ..." with text after the colon is prose, not a section header
    assert parse_docstring("Do it.\n\nNote: carefully.")[0] == "Do it.\n\nNote: carefully."
