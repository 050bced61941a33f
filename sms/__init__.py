"""What an SMS is, with no I/O: delivery states and their rules, phone numbers."""
