"""What the two Twilio channels share: settings, signature check, REST client and error mapping, parsing.

Not a channel (the registry skips packages whose name starts with ``_``): ``channels.twilio_sms`` and
``channels.twilio_voice`` import it, and it imports only the hub's leaf contract, the standard library and
third-party modules, like a channel (tests/test_architecture.py). ``const.py`` and ``settings.py``
(names), ``signature.py`` and ``parse.py`` (pure), ``webhook.py`` (a request's signed URL and its check),
``client.py`` (I/O).
"""
