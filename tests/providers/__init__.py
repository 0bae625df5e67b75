"""The provider layer (providers/) against each provider's emulator, over real HTTP."""
