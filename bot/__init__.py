"""deskwatch: feeds -> items -> stories -> messages, for regional-security desks."""
