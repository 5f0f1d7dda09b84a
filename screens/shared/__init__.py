"""What every screen shares: the flow of authorised operations (confirm → code → receipt), the frame, widgets,
calls off the UI thread and text entry."""
