# Measurement stand-in: torch_npu is not installed on this CPU machine. kcat's codemods add
# `import torch_npu` next to torch.npu calls; none of them runs on the paths measured here.
