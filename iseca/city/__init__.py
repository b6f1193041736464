"""The city's own work: its figures for 窓口TOP, お知らせ, and the public
texts it edits (よくあるご質問 …). It may use money, never merchants or
members."""
