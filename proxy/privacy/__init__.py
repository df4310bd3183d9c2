"""Personal data and secrets in stored text: finding them, counting them by kind, redacting them; pure."""
