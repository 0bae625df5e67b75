"""Emulators of the SMS providers' APIs, real HTTP servers on the loopback (`emulator`:
what they share; `twilio_emulator`, `messagemedia_emulator`, `webhook_emulator`; `sending`: what the tests send)."""
