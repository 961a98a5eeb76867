"""The staff side's pure core: who may do what, what a ticket becomes, what the card, the queue
and the report say. Plain functions over plain data and content texts; the guides' desk
(coach/desk.py) does the database and outbox work around them."""
