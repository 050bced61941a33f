"""Stand-ins for what this machine cannot reach, the SMS gateway and Slack: demo and tests."""
