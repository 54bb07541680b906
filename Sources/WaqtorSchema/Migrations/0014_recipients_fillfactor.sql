-- Room on each page of campaign_recipients for updated row versions: the lease a worker takes
-- before a send changes no indexed column, so with free space on the page PostgreSQL writes it as
-- a heap-only tuple (HOT) and none of the table's indexes gets a new entry. Pages written from now
-- on (a campaign's start) keep 20 % free.
ALTER TABLE campaign_recipients SET (fillfactor = 80);
