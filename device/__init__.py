"""The scanfloor device: a handheld or pack station talking to the server over Socket.IO."""
