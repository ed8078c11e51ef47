"""All registered models; importing this package registers every one of them."""
from genad.models import reconstruction  # noqa: F401
from genad.models import density  # noqa: F401
from genad.models import adversarial, diffusion  # noqa: F401
from genad.models import hybrid  # noqa: F401
from genad.models import timeseries  # noqa: F401,E402
from genad.models import streaming  # noqa: F401,E402
