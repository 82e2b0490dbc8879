"""The MixingBuddy model (frozen MERT encoder -> MLP projector -> LoRA Qwen2) and its advisor. The only part of
model/ that imports torch; nothing below it imports it."""
