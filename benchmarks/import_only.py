"""Import paddle the way train.py does and make one tensor: the memory floor of a script."""
import utils  # noqa: F401
import paddle

paddle.ones([1])
