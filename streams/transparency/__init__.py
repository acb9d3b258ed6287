"""Transparency for the people pulsewire is about: the notice of what it does (``notice``) and one
person's copy of everything it holds about them (``export``), each look-up recorded."""
