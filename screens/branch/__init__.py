"""The staff's screens: tills, counter cash, back office, approvals, audit and end of day."""
