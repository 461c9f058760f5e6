"""The campaign dispatcher: releases due campaigns' recipients as bulk SendTemplate commands.

Read in this order: ``dispatch.py`` (find due campaigns, claim each with a lease, one release
loop per campaign), ``release.py`` (one campaign's release loop: a step at a time), ``pacing.py``
(how many recipients a step may release; pure) and ``ports.py`` (the store it needs, its knobs).
Its MongoDB store is ``adapters/campaign_mongo.py``: an adapter like the sender's others, it
depends on this package (the lease rule in ``pacing.py``), never the reverse (docs/campaigns.md).
"""
